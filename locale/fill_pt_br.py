"""Fill locale/pt_BR/LC_MESSAGES/django.po with the pages' Portuguese texts.

Run after `manage.py makemessages -l pt_BR` (which keeps existing translations), then
`manage.py compilemessages`. Texts already translated in the file are left as they are.
"""

import re
import sys
from pathlib import Path

PO = Path(__file__).parent / "pt_BR" / "LC_MESSAGES" / "django.po"

PT_BR = {
    "This panel key is no longer valid. Open the new link from the panels page.": (
        "A chave deste painel não vale mais. Abra o novo link da página de painéis."
    ),
    "The link has no panel key. Open the link a clinic administrator makes on the panels page.": (
        "O link não tem a chave do painel. Abra o link que um administrador da clínica cria na "
        "página de painéis."
    ),
    "The panel key in this link is not valid for this clinic. Open the current panel link "
    "from the panels page.": (
        "A chave do painel neste link não é válida para esta clínica. Abra o link atual do "
        "painel da página de painéis."
    ),
    "The clinic's panel key was changed. Open the new panel link from the panels page on this "
    "screen.": (
        "A chave deste painel foi trocada. Abra nesta tela o novo link do painel da página de "
        "painéis."
    ),
    "Panel links no longer carry the key after “?key=”. Open the current panel link from the "
    "panels page: it ends in “#key=…”.": (
        "Os links do painel não levam mais a chave depois de “?key=”. Abra o link atual do "
        "painel da página de painéis: ele termina em “#key=…”."
    ),
    # clinic admin pages
    "Receptionist": "Recepcionista",
    "Clinician": "Profissional de saúde",
    "Clinic admin": "Administrador da clínica",
    "Clinic administration": "Administração da clínica",
    "Services, desks, staff, waiting-room panels and the clinic's settings.": (
        "Serviços, guichês, equipe, painéis da sala de espera e configurações da clínica."
    ),
    "Only the clinic's administrators manage the clinic.": (
        "Só os administradores da clínica podem administrá-la."
    ),
    "Services": "Serviços",
    "Staff": "Equipe",
    "Panels": "Painéis",
    "Settings": "Configurações",
    "Edit": "Editar",
    "Save": "Salvar",
    "Back": "Voltar",
    "Delete": "Excluir",
    "default": "padrão",
    "Active": "Ativo",
    "Ticket prefix": "Prefixo da senha",
    "1 to 3 letters; tickets read R001, TRI012.": "1 a 3 letras; as senhas ficam R001, TRI012.",
    "Target wait (minutes)": "Espera-alvo (minutos)",
    "Display order": "Ordem de exibição",
    "Lower numbers come first in lists.": "Números menores aparecem primeiro nas listas.",
    "Target wait %(n)s min · order %(order)s": "Espera-alvo %(n)s min · ordem %(order)s",
    "New service": "Novo serviço",
    "Create service": "Criar serviço",
    "Service created.": "Serviço criado.",
    "Service saved.": "Serviço salvo.",
    "Service %(name)s": "Serviço %(name)s",
    "Desks and rooms": "Guichês e consultórios",
    "No desk yet. Create one to call patients.": (
        "Nenhum guichê ainda. Crie um para chamar pacientes."
    ),
    "New desk": "Novo guichê",
    "Create desk": "Criar guichê",
    "Services it calls": "Serviços que chama",
    "Choose at least one service.": "Escolha pelo menos um serviço.",
    "Desk created.": "Guichê criado.",
    "Desk saved.": "Guichê salvo.",
    "Role": "Função",
    "Change role": "Mudar função",
    "Resend invitation": "Reenviar convite",
    "Deactivate": "Desativar",
    "no access": "sem acesso",
    "invitation pending": "convite pendente",
    "Remove this person’s access to the clinic?": "Remover o acesso desta pessoa à clínica?",
    "Invite someone": "Convidar alguém",
    "They get an e-mail with a link to choose their password (valid for 3 days).": (
        "A pessoa recebe um e-mail com um link para criar a senha (válido por 3 dias)."
    ),
    "Send invitation": "Enviar convite",
    "Invitation sent to %(email)s.": "Convite enviado para %(email)s.",
    "Invitation sent again to %(email)s.": "Convite reenviado para %(email)s.",
    "Role of %(email)s changed.": "Função de %(email)s alterada.",
    "%(email)s no longer has access to this clinic.": (
        "%(email)s não tem mais acesso a esta clínica."
    ),
    "Choose a role.": "Escolha uma função.",
    "Waiting-room panels": "Painéis da sala de espera",
    "Shows": "Mostra",
    "every desk": "todos os guichês",
    "voice on": "voz ligada",
    "New key and link": "Nova chave e link",
    "Make a new key? The TV stops showing calls until the new link is opened on it.": (
        "Criar uma nova chave? A TV deixa de mostrar as chamadas até o novo link ser aberto nela."
    ),
    "Delete this panel? Its TV stops showing calls.": (
        "Excluir este painel? A TV dele deixa de mostrar as chamadas."
    ),
    "New panel": "Novo painel",
    "Create panel": "Criar painel",
    "Panel %(name)s": "Painel %(name)s",
    "Link of the panel %(name)s": "Link do painel %(name)s",
    "Open it on the TV; it needs no login. It is shown only now: for another, make a new key.": (
        "Abra-o na TV; não precisa de login. Ele só aparece agora: para outro, crie uma nova chave."
    ),
    "Copied": "Copiado",
    "Desks it shows": "Guichês que mostra",
    "With no desk and no service chosen, the panel shows every desk.": (
        "Sem guichê nem serviço escolhido, o painel mostra todos os guichês."
    ),
    "Also the desks serving these services": "Também os guichês que atendem estes serviços",
    "Say each call aloud": "Falar cada chamada em voz alta",
    "Speech rate": "Velocidade da fala",
    "1 is normal speed; from 0.5 to 2.": "1 é a velocidade normal; de 0,5 a 2.",
    "Panel created. Open its link on the TV.": "Painel criado. Abra o link dele na TV.",
    "Panel saved.": "Painel salvo.",
    "Panel deleted.": "Painel excluído.",
    "New key made. The TV was signed out: open this link on it.": (
        "Nova chave criada. A TV foi desconectada: abra este link nela."
    ),
    "Clinic settings": "Configurações da clínica",
    "Clinic name": "Nome da clínica",
    "The queue starts afresh at this local time each day.": (
        "A fila recomeça todo dia neste horário local."
    ),
    "Save settings": "Salvar configurações",
    "Settings saved. The daily reset follows the new time.": (
        "Configurações salvas. O reinício diário segue o novo horário."
    ),
    "Clinic admin's e-mail": "E-mail do administrador da clínica",
    "They get an e-mail with a link to choose a password.": (
        "A pessoa recebe um e-mail com um link para criar a senha."
    ),
    # passwords
    "Forgot my password": "Esqueci minha senha",
    "Too many requests. Try again in a minute.": "Pedidos demais. Tente de novo em um minuto.",
    "Type the e-mail you sign in with. We send a link to choose a new password.": (
        "Digite o e-mail com que você entra. Enviamos um link para criar uma nova senha."
    ),
    "Send the link": "Enviar o link",
    "Back to sign-in": "Voltar para a entrada",
    "Check your e-mail": "Verifique seu e-mail",
    "If this e-mail has an account, a link to choose a new password is on its way. It works "
    "once, for 3 days.": (
        "Se este e-mail tiver uma conta, um link para criar uma nova senha está a caminho. Ele "
        "funciona uma vez, por 3 dias."
    ),
    "Nothing arrived in a few minutes? Look in the spam folder, or ask your clinic's "
    "administrator.": (
        "Não chegou nada em alguns minutos? Veja a pasta de spam ou fale com o administrador "
        "da clínica."
    ),
    "Choose your password": "Crie sua senha",
    "This link is invalid or expired, or was already used.": (
        "Este link é inválido ou expirado, ou já foi usado."
    ),
    "Ask for a new link": "Pedir um novo link",
    "For the account %(email)s.": "Para a conta %(email)s.",
    "At least 8 characters, not only digits, not a common password and not like your e-mail "
    "or name.": (
        "Pelo menos 8 caracteres, não só números, não uma senha comum e não parecida com seu "
        "e-mail ou nome."
    ),
    "New password": "Nova senha",
    "New password again": "Nova senha de novo",
    "Current password": "Senha atual",
    "Save password": "Salvar senha",
    "Change password": "Alterar senha",
    "Your other sessions and apps signed in with this account are signed out.": (
        "Suas outras sessões e aplicativos conectados com esta conta são desconectados."
    ),
    "Password saved": "Senha salva",
    "Your password was changed. Other sessions were signed out.": (
        "Sua senha foi alterada. As outras sessões foram desconectadas."
    ),
    "Continue": "Continuar",
    "Your password is set. Sign in with your e-mail and the new password.": (
        "Sua senha foi criada. Entre com seu e-mail e a nova senha."
    ),
    "The two passwords differ. Type the same one twice.": (
        "As duas senhas são diferentes. Digite a mesma duas vezes."
    ),
    "The current password is wrong.": "A senha atual está errada.",
    # e-mails
    "Your access to %(clinic)s on Clinico": "Seu acesso a %(clinic)s no Clinico",
    "Hello, %(name)s.": "Olá, %(name)s.",
    "Hello.": "Olá.",
    "You were invited to use Clinico at %(clinic)s.": (
        "Você foi convidado a usar o Clinico em %(clinic)s."
    ),
    "You were invited to use Clinico.": "Você foi convidado a usar o Clinico.",
    "Open this link to choose your password:": "Abra este link para criar sua senha:",
    "The link works once and for %(days)s days. If it expired, use “Forgot my password” on the "
    "sign-in page, or ask your clinic's administrator to send a new invitation.": (
        "O link funciona uma vez, por %(days)s dias. Se expirou, use “Esqueci minha senha” na "
        "página de entrada ou peça ao administrador da clínica um novo convite."
    ),
    "Then sign in at:": "Depois, entre em:",
    "You now have access to %(clinic)s on Clinico. Sign in with your e-mail and the password "
    "you already use:": (
        "Agora você tem acesso a %(clinic)s no Clinico. Entre com seu e-mail e a senha que já usa:"
    ),
    "Choose a new Clinico password": "Crie uma nova senha do Clinico",
    "Someone asked for a new password for your Clinico account. Open this link to choose it:": (
        "Alguém pediu uma nova senha para sua conta do Clinico. Abra este link para criá-la:"
    ),
    "The link works once and for %(days)s days. Setting a new password signs you out everywhere.": (
        "O link funciona uma vez, por %(days)s dias. Criar uma nova senha desconecta você de "
        "todos os lugares."
    ),
    "If it was not you, ignore this e-mail: your password stays as it is.": (
        "Se não foi você, ignore este e-mail: sua senha continua a mesma."
    ),
    # sign-in and frame
    "E-mail": "E-mail",
    "Password": "Senha",
    "Sign in": "Entrar",
    "Sign out": "Sair",
    "Skip to content": "Pular para o conteúdo",
    "Account and language": "Conta e idioma",
    "E-mail or password is wrong, or this account has no access here. Check both and try "
    "again (the password is case-sensitive).": (
        "E-mail ou senha incorretos, ou esta conta não tem acesso aqui. Confira os dois e tente "
        "de novo (a senha diferencia maiúsculas de minúsculas)."
    ),
    "This account is disabled. Ask your clinic's administrator.": (
        "Esta conta está desativada. Fale com o administrador da clínica."
    ),
    "Chain dashboard": "Painel da rede",
    "Clinic staff sign in at their clinic's address.": (
        "A equipe de uma clínica entra pelo endereço da própria clínica."
    ),
    "No access": "Sem acesso",
    "Your account has no access to %(clinic)s.": "Sua conta não tem acesso a %(clinic)s.",
    "Your account does not manage any chain.": "Sua conta não gerencia nenhuma rede.",
    "Sign out and sign in with an account that has access, or ask your administrator.": (
        "Saia e entre com uma conta que tenha acesso, ou fale com o administrador."
    ),
    # console
    "Check-in": "Check-in",
    "Patient's CPF": "CPF do paciente",
    "Type the 11 digits and press Enter.": "Digite os 11 números e tecle Enter.",
    "Service": "Serviço",
    "Declared priority": "Prioridade declarada",
    "None": "Nenhuma",
    "Age priority (60+ and 80+) comes from the birth date.": (
        "A prioridade por idade (60+ e 80+) vem da data de nascimento."
    ),
    "New patient: registration": "Paciente novo: cadastro",
    "Full name": "Nome completo",
    "Social name (optional)": "Nome social (opcional)",
    "Birth date": "Data de nascimento",
    "Phone": "Telefone",
    "E-mail (optional)": "E-mail (opcional)",
    "Check in": "Fazer check-in",
    "Clear": "Limpar",
    "My desk": "Meu guichê",
    "Desk": "Guichê",
    "Choose your desk": "Escolha seu guichê",
    "Call next": "Chamar próximo",
    "Call again": "Chamar de novo",
    "Start service": "Iniciar atendimento",
    "Finish": "Finalizar",
    "Return to queue": "Devolver à fila",
    "Transfer to": "Transferir para",
    "Transfer": "Transferir",
    "Waiting-room panel": "Painel da sala de espera",
    "Open this link on the waiting-room TV. It needs no login; keep it within the clinic.": (
        "Abra este link na TV da sala de espera. Ele dispensa login; não o divulgue fora da "
        "clínica."
    ),
    "Panel link": "Link do painel",
    "Copy": "Copiar",
    "Open": "Abrir",
    "Queue today": "Fila de hoje",
    "Cancel ticket": "Cancelar senha",
    "Reason": "Motivo",
    "e.g. Patient left": "ex.: Paciente desistiu",
    "Keep ticket": "Manter senha",
    "80+": "80+",
    "Priority": "Prioritário",
    "Blood donor": "Doador de sangue",
    "Normal": "Normal",
    "A CPF has 11 digits.": "O CPF tem 11 números.",
    "Cancel": "Cancelar",
    "Looking up the CPF…": "Consultando o CPF…",
    "New patient: fill in the registration below and press Check in.": (
        "Paciente novo: preencha o cadastro abaixo e clique em Fazer check-in."
    ),
    "Patient found: %(name)s. Checking in…": "Paciente encontrado: %(name)s. Fazendo check-in…",
    "Check-in received; issuing the ticket…": "Check-in recebido; emitindo a senha…",
    "Ticket issued": "Senha emitida",
    "The check-in failed: %(reason)s": "O check-in falhou: %(reason)s",
    "The ticket is taking longer than usual. It will appear in the queue as soon as it is "
    "issued; there is no need to check in again.": (
        "A senha está demorando mais que o normal. Ela aparecerá na fila assim que for emitida; "
        "não é preciso fazer o check-in de novo."
    ),
    "Position": "Posição",
    "Estimated wait": "Espera estimada",
    "%(n)s min": "%(n)s min",
    "no desk open": "nenhum guichê aberto",
    "No one is waiting.": "Ninguém aguardando.",
    "No one is waiting for this desk's services.": (
        "Ninguém aguardando pelos serviços deste guichê."
    ),
    "Choose your desk to call patients.": "Escolha seu guichê para chamar pacientes.",
    "No patient at this desk. Press “Call next”.": (
        "Nenhum paciente neste guichê. Clique em “Chamar próximo”."
    ),
    "waited %(n)s min": "aguarda há %(n)s min",
    "called at %(time)s": "chamada às %(time)s",
    "recalled %(n)s×": "chamada de novo %(n)s×",
    "%(n)s waiting": "%(n)s aguardando",
    "Why is the ticket cancelled?": "Por que a senha foi cancelada?",
    "Ticket %(code)s cancelled.": "Senha %(code)s cancelada.",
    "Ticket %(code)s transferred: new ticket %(new)s in %(service)s.": (
        "Senha %(code)s transferida: nova senha %(new)s em %(service)s."
    ),
    "Ticket %(code)s called to %(desk)s.": "Senha %(code)s chamada para %(desk)s.",
    "No connection to the server. Check the network and try again.": (
        "Sem conexão com o servidor. Verifique a rede e tente de novo."
    ),
    "Your session ended. Sign in again.": "Sua sessão terminou. Entre de novo.",
    "Something went wrong (%(status)s). Try again.": "Algo deu errado (%(status)s). Tente de novo.",
    "Updated at %(time)s": "Atualizado às %(time)s",
    "Link copied.": "Link copiado.",
    # statuses and reasons (model choices shown in the console)
    "Waiting": "Aguardando",
    "Called": "Chamada",
    "In service": "Em atendimento",
    "Done": "Concluída",
    "No-show": "Não compareceu",
    "Cancelled": "Cancelada",
    "Transferred": "Transferida",
    "Expired": "Expirada",
    "80 years or older": "80 anos ou mais",
    "60 years or older": "60 anos ou mais",
    "Pregnant": "Gestante",
    "Breastfeeding": "Lactante",
    "With an infant in arms": "Com criança de colo",
    "Person with disability": "Pessoa com deficiência",
    "Autism spectrum": "Transtorno do espectro autista",
    "Obesity": "Pessoa obesa",
    "Reduced mobility": "Mobilidade reduzida",
    # panel
    "Panel": "Painel",
    "Turn sound on": "Ativar som",
    "Ticket %(code)s, %(desk)s": "Senha %(code)s, %(desk)s",
    "Voice on": "Voz ligada",
    "Voice off": "Voz desligada",
    "Speed": "Velocidade",
    "This panel key is no longer valid.": "Esta chave de painel não vale mais.",
    "Sign in to follow the queue.": "Entre para acompanhar a fila.",
    "Your account has no access to this clinic.": "Sua conta não tem acesso a esta clínica.",
    "Sign in to follow the dashboard.": "Entre para acompanhar o painel da rede.",
    "Now calling": "Chamando agora",
    "Desks": "Guichês",
    "Last calls": "Últimas chamadas",
    "Please wait to be called": "Aguarde ser chamado",
    "No connection. Trying again…": "Sem conexão. Tentando de novo…",
    "This panel key is no longer valid. Open the new link from the console.": (
        "A chave deste painel não vale mais. Abra o novo link a partir do console."
    ),
    "This panel cannot be shown": "Este painel não pode ser exibido",
    "The link has no panel key. Open the panel link shown to clinic administrators in the "
    "console.": (
        "O link não tem a chave do painel. Abra o link do painel mostrado aos administradores "
        "da clínica no console."
    ),
    "The panel key in this link is not valid for this clinic. Open the current panel link "
    "from the console.": (
        "A chave do painel neste link não é válida para esta clínica. Abra o link atual do "
        "painel a partir do console."
    ),
    "The clinic's panel key was changed. Open the new panel link from the console on this "
    "screen.": (
        "A chave do painel da clínica foi trocada. Abra nesta tela o novo link do painel a "
        "partir do console."
    ),
    "Panel links no longer carry the key after “?key=”. Open the current panel link from the "
    "console: it ends in “#key=…”.": (
        "Os links do painel não levam mais a chave depois de “?key=”. Abra o link atual do "
        "painel a partir do console: ele termina em “#key=…”."
    ),
    "Opening the panel…": "Abrindo o painel…",
    "Panel key": "Chave do painel",
    "Open panel": "Abrir painel",
    "A new key signs the current TV out: then open the new link on it.": (
        "Uma nova chave desconecta a TV atual: depois abra nela o novo link."
    ),
    "New panel key": "Nova chave do painel",
    "Make a new panel key? The TV stops showing calls until the new link is opened on it.": (
        "Criar uma nova chave do painel? A TV deixa de mostrar as chamadas até que o novo link "
        "seja aberto nela."
    ),
    "New panel key made. Open the new link on the TV.": (
        "Nova chave do painel criada. Abra o novo link na TV."
    ),
    # dashboard
    "Today, live": "Hoje, ao vivo",
    "Clinic": "Clínica",
    "Waiting now": "Aguardando agora",
    "At desks": "Nos guichês",
    "Served today": "Atendidos hoje",
    "No-shows": "Não compareceram",
    "Average wait": "Espera média",
    "Timezone": "Fuso horário",
    "inactive": "inativa",
    "This chain has no clinic yet. Open the first one below.": (
        "Esta rede ainda não tem clínicas. Abra a primeira abaixo."
    ),
    "Last days": "Últimos dias",
    "Served / tickets, and average wait, per closed day": (
        "Atendidos / senhas e espera média, por dia encerrado"
    ),
    "No closed day yet: summaries appear after each clinic's daily reset.": (
        "Nenhum dia encerrado ainda: os resumos aparecem após o reinício diário de cada clínica."
    ),
    "Open a new clinic": "Abrir uma nova clínica",
    "Name": "Nome",
    "Address (slug)": "Endereço (slug)",
    "Lower-case letters, digits and _; it becomes the clinic's address.": (
        "Letras minúsculas, números e _; vira o endereço da clínica."
    ),
    "Daily reset time": "Horário do reinício diário",
    "Open clinic": "Abrir clínica",
    "Clinic %(name)s opened: %(host)s": "Clínica %(name)s aberta: %(host)s",
    "Opening the clinic…": "Abrindo a clínica…",
    # desk breaks
    "Lunch": "Almoço",
    "Break": "Pausa",
    "Meeting": "Reunião",
    "Other": "Outro",
    "break reason": "motivo da pausa",
    "Start break": "Iniciar pausa",
    "End break": "Encerrar pausa",
    "Closed for a break (%(reason)s) since %(time)s. End the break to call.": (
        "Fechado para pausa (%(reason)s) desde %(time)s. Encerre a pausa para chamar."
    ),
    "%(desk)s is closed: %(reason)s.": "%(desk)s está fechado: %(reason)s.",
    "%(desk)s is open again.": "%(desk)s está aberto de novo.",
    "Closed": "Fechado",
    # figures page and chain charts
    "Figures": "Números",
    "Open figures": "Ver números",
    "Arrivals, waits, calls per attendant and desk, breaks: today or any dates, with a CSV.": (
        "Chegadas, esperas, chamadas por atendente e por guichê, pausas: hoje ou qualquer "
        "período, com CSV."
    ),
    "Service days in the clinic's timezone. Wait: from the ticket to its first call. Service "
    "time: from start to finish of served tickets.": (
        "Dias no fuso horário da clínica. Espera: da senha até a primeira chamada. Tempo de "
        "atendimento: do início ao fim dos atendimentos concluídos."
    ),
    "From": "De",
    "To": "Até",
    "Show": "Mostrar",
    "Today": "Hoje",
    "Last 7 days": "Últimos 7 dias",
    "Last 30 days": "Últimos 30 dias",
    "Download CSV": "Baixar CSV",
    "Arrivals": "Chegadas",
    "Calls": "Chamadas",
    "Served": "Atendidos",
    "Wait p50": "Espera p50",
    "Wait p90": "Espera p90",
    "Service time": "Tempo de atendimento",
    "Total service time": "Tempo total de atendimento",
    "Within target": "Dentro da meta",
    "Break time": "Tempo em pausa",
    "Arrivals and calls per hour": "Chegadas e chamadas por hora",
    "No tickets in these days.": "Nenhuma senha nestes dias.",
    "Numbers": "Números",
    "Hour": "Hora",
    "Wait per hour of arrival (minutes)": "Espera por hora de chegada (minutos)",
    "Per service": "Por serviço",
    "Wait p90 (minutes); the table has every figure.": (
        "Espera p90 (minutos); a tabela tem todos os números."
    ),
    "Per attendant": "Por atendente",
    "Calls; the table has served tickets and service time.": (
        "Chamadas; a tabela tem os atendimentos e o tempo de atendimento."
    ),
    "Attendant": "Atendente",
    "Nobody was called in these days.": "Ninguém foi chamado nestes dias.",
    "Per desk": "Por guichê",
    "Calls, and time on breaks (minutes).": "Chamadas e tempo em pausa (minutos).",
    "Break time (minutes)": "Tempo em pausa (minutos)",
    "Times in the tables are minutes; the CSV and the API give seconds.": (
        "Os tempos nas tabelas estão em minutos; o CSV e a API dão segundos."
    ),
    "Only the clinic's administrators see its figures.": (
        "Somente os administradores da clínica veem os números dela."
    ),
    "Back to the dashboard": "Voltar ao painel",
    "p50": "p50",
    "p90": "p90",
    "Wait p90 per service (minutes)": "Espera p90 por serviço (minutos)",
    "Calls per attendant": "Chamadas por atendente",
    "Calls per desk": "Chamadas por guichê",
    "Break time per desk (minutes)": "Tempo em pausa por guichê (minutos)",
    "Chain": "Rede",
    "Clinics": "Clínicas",
    "Desks on break": "Guichês em pausa",
    "Arrivals and calls per hour, all clinics": "Chegadas e chamadas por hora, todas as clínicas",
    "Each clinic's local hours.": "Horas locais de cada clínica.",
    "No tickets yet today.": "Nenhuma senha hoje ainda.",
    "Waiting now and wait p90, per clinic": "Aguardando agora e espera p90, por clínica",
    "Wait p90 (minutes)": "Espera p90 (minutos)",
    "The numbers are in the table below.": "Os números estão na tabela abaixo.",
    "Waiting now per clinic": "Aguardando agora por clínica",
    "Wait p90 today per clinic (minutes)": "Espera p90 hoje por clínica (minutos)",
    "Pages of clinics": "Páginas de clínicas",
    "Previous": "Anterior",
    "Next": "Próxima",
    "Page %(page)s of %(pages)s · %(n)s clinics": "Página %(page)s de %(pages)s · %(n)s clínicas",
    # totem
    "Welcome! Type your CPF": "Bem-vindo! Digite seu CPF",
    "Touch the numbers below. Your ticket is printed right after.": (
        "Toque nos números abaixo. Sua senha é impressa em seguida."
    ),
    "What are you here for?": "Qual atendimento você procura?",
    "Do you have the right to priority service?": "Você tem direito a atendimento prioritário?",
    "Touch the one that applies to you. People aged 60 or over get priority from their birth "
    "date.": (
        "Toque na opção que se aplica a você. Pessoas com 60 anos ou mais têm prioridade pela "
        "data de nascimento."
    ),
    "No, regular service": "Não, atendimento normal",
    "First visit? A quick registration": "Primeira vez aqui? Um cadastro rápido",
    "Your full name": "Seu nome completo",
    "Keyboard": "Teclado",
    "Your birth date (day, month, year)": "Sua data de nascimento (dia, mês, ano)",
    "Get my ticket": "Emitir minha senha",
    "Please go to reception": "Por favor, dirija-se à recepção",
    "Your CPF is not registered at this clinic yet. Reception will register you and give you "
    "your ticket.": (
        "Seu CPF ainda não está cadastrado nesta clínica. A recepção fará seu cadastro e "
        "entregará sua senha."
    ),
    "All done": "Concluir",
    "Issuing your ticket…": "Emitindo sua senha…",
    "Start again": "Começar de novo",
    "Keypad": "Teclado numérico",
    "Erase": "Apagar",
    "Space": "Espaço",
    "The totem is busy. Please wait a moment and try again.": (
        "O totem está ocupado. Aguarde um momento e tente de novo."
    ),
    "This CPF is not valid. Check the digits and try again.": (
        "Este CPF não é válido. Confira os números e tente de novo."
    ),
    "Type the birth date as day, month and year: 8 digits.": (
        "Digite a data de nascimento com dia, mês e ano: 8 números."
    ),
    "Type your full name.": "Digite seu nome completo.",
    "Your ticket is taking longer than usual. Please wait here, or ask at reception.": (
        "Sua senha está demorando mais que o normal. Aguarde aqui ou fale com a recepção."
    ),
    "We could not issue your ticket. Please go to reception.": (
        "Não conseguimos emitir sua senha. Por favor, dirija-se à recepção."
    ),
    "This totem's key was changed. A clinic admin must open the new link.": (
        "A chave deste totem foi trocada. Um administrador da clínica precisa abrir o novo link."
    ),
    "Totem": "Totem",
    "This totem is not ready": "Este totem não está pronto",
    "The totem key in this link is not valid for this clinic. Open the current totem link from "
    "the console.": (
        "A chave do totem neste link não é válida para esta clínica. Abra o link atual do totem "
        "pelo console."
    ),
    "The clinic's totem key was changed. Open the new totem link from the console on this "
    "screen.": (
        "A chave do totem da clínica foi trocada. Abra o novo link do totem pelo console nesta "
        "tela."
    ),
    "Totem links never carry the key after “?key=”. Open the totem link from the console: it "
    "ends in “#key=…”.": (
        "Links do totem nunca levam a chave após “?key=”. Abra o link do totem pelo console: ele "
        "termina em “#key=…”."
    ),
    "The link has no totem key. Open the totem link shown to clinic administrators in the "
    "console.": (
        "O link não tem a chave do totem. Abra o link do totem mostrado aos administradores da "
        "clínica no console."
    ),
    "Opening the totem…": "Abrindo o totem…",
    "Totem key": "Chave do totem",
    "Open totem": "Abrir totem",
    # printed ticket
    "Ticket": "Senha",
    "Please take your printed ticket": "Retire sua senha impressa",
    "Your ticket": "Sua senha",
    "Priority: %(priority)s": "Prioridade: %(priority)s",
    "Issued": "Emitida",
    "about %(n)s min": "cerca de %(n)s min",
    "Reprinted at %(time)s: position and wait as of then.": (
        "Reimpressa às %(time)s: posição e espera desse momento."
    ),
    "Scan to follow your turn on your phone": "Aponte a câmera e acompanhe sua vez no celular",
    "Keep this ticket until you are called.": "Guarde esta senha até ser chamado.",
    "Print": "Imprimir",
    "QR code": "Código QR",
    # patient status page
    "Loading…": "Carregando…",
    "This ticket has ended": "Esta senha foi encerrada",
    "The clinic's day is over, so this link no longer shows a ticket. For a new visit, get a "
    "new ticket at the clinic.": (
        "O dia da clínica terminou, e este link não mostra mais a senha. Para um novo "
        "atendimento, retire uma nova senha na clínica."
    ),
    "Ticket not found": "Senha não encontrada",
    "This link does not belong to a ticket of this clinic. Scan the QR code on your printed "
    "ticket again.": (
        "Este link não pertence a uma senha desta clínica. Leia de novo o código QR da sua "
        "senha impressa."
    ),
    "This page shows only your ticket code: no name, no CPF.": (
        "Esta página mostra só o código da sua senha: sem nome, sem CPF."
    ),
    "Called to %(desk)s": "Chamada para %(desk)s",
    "Please go there now.": "Dirija-se para lá agora.",
    "In service at %(desk)s": "Em atendimento em %(desk)s",
    "%(n)s ahead of you": "%(n)s na sua frente",
    "You are next": "Você é o próximo",
    "no desk open yet": "nenhum guichê aberto ainda",
    "This ticket has ended.": "Esta senha foi encerrada.",
    "Your visit for this ticket is finished. Thank you!": (
        "O atendimento desta senha terminou. Obrigado!"
    ),
    # console: reprint and the totem card
    "Reprint": "Reimprimir",
    "Print this ticket again": "Imprimir esta senha de novo",
    "Make a new totem key? The totem stops checking patients in until the new link is opened "
    "on it.": (
        "Gerar uma nova chave do totem? O totem para de fazer check-in até o novo link ser "
        "aberto nele."
    ),
    "New totem key made. Open the new link on the totem.": (
        "Nova chave do totem gerada. Abra o novo link no totem."
    ),
    "Totem settings saved.": "Configurações do totem salvas.",
    "Self-service totem": "Totem de autoatendimento",
    "Open this link on the totem: patients check in by CPF and take a printed ticket. It needs "
    "no login; keep it within the clinic.": (
        "Abra este link no totem: os pacientes fazem check-in pelo CPF e retiram a senha "
        "impressa. Não precisa de login; mantenha-o dentro da clínica."
    ),
    "Totem link": "Link do totem",
    "A CPF not registered yet": "Um CPF ainda não cadastrado",
    "Ticket paper": "Papel da senha",
    "New totem key": "Nova chave do totem",
    "Short registration at the totem (name, birth date)": (
        "Cadastro rápido no totem (nome, data de nascimento)"
    ),
    "Send the patient to reception": "Encaminhar o paciente à recepção",
    "80 mm": "80 mm",
    "58 mm": "58 mm",
    "new CPF at the totem": "CPF novo no totem",
    "ticket paper width": "largura do papel da senha",
    # appointments (console section, statuses, settings)
    "Appointments today": "Agendamentos de hoje",
    "Book an appointment": "Novo agendamento",
    "Date and time": "Data e hora",
    "Professional (optional)": "Profissional (opcional)",
    "Note (optional)": "Observação (opcional)",
    "New patient only": "Só para paciente novo",
    "CPF of the booking": "CPF do agendamento",
    "booked no-shows: %(n)s": "faltas de agendados: %(n)s",
    "New patient's name": "Nome do paciente novo",
    "New patient's birth date": "Nascimento do paciente novo",
    "Book": "Agendar",
    "Overdue": "Atrasado",
    "No appointments today.": "Nenhum agendamento hoje.",
    "%(expected)s expected · %(arrived)s arrived · %(no_show)s no-show": (
        "%(expected)s esperados · %(arrived)s chegaram · %(no_show)s faltaram"
    ),
    "Appointment booked for %(time)s.": "Agendamento marcado para %(time)s.",
    "Cancel the appointment at %(time)s?": "Cancelar o agendamento das %(time)s?",
    "Appointment at %(time)s cancelled.": "Agendamento das %(time)s cancelado.",
    "ticket %(code)s": "senha %(code)s",
    # The appointment statuses (context "appointment") are translated in django.po itself:
    # Esperado, Chegou, Chegou atrasado, Faltou, Cancelado.
    "appointment booked": "agendamento marcado",
    "scheduled time": "horário marcado",
    "professional": "profissional",
    "note": "observação",
    "appointment: early window (minutes)": "agendamento: antecedência aceita (minutos)",
    "appointment: late tolerance (minutes)": "agendamento: tolerância de atraso (minutos)",
}

PT_BR_PLURAL = {
    "Too many failed attempts. Wait %(seconds)s second and try again.": (
        "Muitas tentativas sem sucesso. Aguarde %(seconds)s segundo e tente de novo.",
        "Muitas tentativas sem sucesso. Aguarde %(seconds)s segundos e tente de novo.",
    ),
}


def _unquote(lines: list[str]) -> str:
    matches = (re.match(r'^(?:msgid |msgstr )?"(.*)"$', line) for line in lines)
    return "".join(match.group(1) for match in matches if match)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unfuzzy(line: str) -> str:
    if not line.startswith("#,"):
        return line
    flags = [flag.strip() for flag in line[2:].split(",") if flag.strip() != "fuzzy"]
    return "#, " + ", ".join(flags) if flags else "#,"


def fill(text: str) -> tuple[str, int]:
    blocks = text.split("\n\n")
    filled = 0
    for index, block in enumerate(blocks):
        lines = block.split("\n")
        try:
            start = next(i for i, line in enumerate(lines) if line.startswith("msgid "))
            middle = next(i for i, line in enumerate(lines) if line.startswith("msgstr"))
        except StopIteration:
            continue
        plural = next((i for i, line in enumerate(lines) if line.startswith("msgid_plural")), None)
        if plural is not None:
            msgid = _unquote(lines[start:plural]).replace('\\"', '"')
            empty = all(line.endswith('""') for line in lines if line.startswith("msgstr["))
            if msgid in PT_BR_PLURAL and empty:
                first = next(i for i, line in enumerate(lines) if line.startswith("msgstr["))
                one, many = PT_BR_PLURAL[msgid]
                lines = [*lines[:first], f"msgstr[0] {_quote(one)}", f"msgstr[1] {_quote(many)}"]
                blocks[index] = "\n".join(line for line in lines if line != "#, fuzzy")
                filled += 1
            continue
        msgid = _unquote(lines[start:middle]).replace('\\"', '"')
        msgstr = _unquote(lines[middle:])
        # A fuzzy guess (makemessages borrowing a similar text's translation) is replaced too.
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        if msgid in PT_BR and (not msgstr or fuzzy):
            lines = [*lines[:middle], f"msgstr {_quote(PT_BR[msgid])}"]
            lines = [_unfuzzy(line) for line in lines if not line.startswith("#| ")]
            lines = [line for line in lines if line != "#,"]
            blocks[index] = "\n".join(lines)
            filled += 1
    return "\n\n".join(blocks), filled


if __name__ == "__main__":
    new_text, count = fill(PO.read_text())
    PO.write_text(new_text)
    print(f"{count} texts filled", file=sys.stderr)
